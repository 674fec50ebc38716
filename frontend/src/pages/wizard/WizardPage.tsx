// /deploy — the five-step wizard: template → node, storage, OS template → resources → network and access →
// review (the server's plan) and create. One form state for all steps, so Back/Next never lose input; the
// plan's 422 field errors are put back on the step and field they belong to.
import { Alert, Button, Group, Paper, Stepper, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { IconAlertTriangle, IconArrowLeft, IconArrowRight, IconRocket } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate, useSearchParams } from "react-router";

import { api, ApiError, errorMessage, unwrap } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { PageHeader } from "../../components/PageHeader";
import { ErrorState, LoadingState } from "../../components/PageState";
import {
  applyDefaults,
  buildRequest,
  type DeploymentRequest,
  initialValues,
  mapServerErrors,
  STEPS,
  stepOfField,
  templateInputs,
  validateStep,
  type WizardValues,
} from "./model";
import { NetworkStep } from "./NetworkStep";
import { nodeProblem } from "./nodeQueries";
import { NodeStep } from "./NodeStep";
import { ResourcesStep } from "./ResourcesStep";
import { ReviewStep } from "./ReviewStep";
import { TemplateStep } from "./TemplateStep";

const REVIEW = STEPS.length - 1;

export default function WizardPage() {
  const { canWrite } = useAuth();
  const [searchParams] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = useForm<WizardValues>({ mode: "controlled", initialValues: initialValues(searchParams.get("template") ?? "") });
  const [active, setActive] = useState(0);
  const [appliedFor, setAppliedFor] = useState<string | null>(null);
  const [unplaced, setUnplaced] = useState<string[]>([]);

  const template = form.values.template;
  const defaults = useQuery({
    queryKey: ["templates", template, "deploy-defaults"],
    queryFn: () => unwrap(api.GET("/api/v1/templates/{name}/deploy-defaults", { params: { path: { name: template } } })),
    enabled: Boolean(template),
    retry: false,
  });
  const inputs = templateInputs(defaults.data);

  // The template's defaults fill the form once per chosen template (coming back to step 1 keeps edits).
  useEffect(() => {
    if (defaults.data && defaults.data.template === template && appliedFor !== template) {
      form.setValues(applyDefaults(form.getValues(), defaults.data));
      setAppliedFor(template);
    }
  }, [defaults.data, template, appliedFor, form]);

  /** Server field errors back onto their fields; go to the earliest step that has one. */
  const placeServerErrors = (error: unknown): boolean => {
    if (!(error instanceof ApiError) || error.status !== 422) return false;
    const mapped = mapServerErrors(error.fieldMap());
    form.setErrors(mapped.errors);
    setUnplaced(mapped.unplaced.length > 0 || mapped.step === null ? [error.message, ...mapped.unplaced] : []);
    if (mapped.step !== null) {
      setActive(mapped.step);
      notifications.show({ color: "red", title: "Please check this step", message: error.message });
    }
    return true;
  };

  const plan = useMutation({
    mutationFn: (body: DeploymentRequest) => unwrap(api.POST("/api/v1/deployments/plan", { body })),
    onError: placeServerErrors,
  });
  const create = useMutation({
    mutationFn: (body: DeploymentRequest) => unwrap(api.POST("/api/v1/deployments", { body })),
    onSuccess: (deployment) => {
      void queryClient.invalidateQueries({ queryKey: ["deployments", "list"] });
      navigate(`/deployments/${deployment.id}`);
    },
    onError: placeServerErrors,
  });

  if (!canWrite) {
    return (
      <>
        <PageHeader title="New deployment" />
        <Alert color="orange" title="Not allowed" icon={<IconAlertTriangle aria-hidden />}>
          Creating containers needs the operator or admin role.
        </Alert>
      </>
    );
  }

  const request = () => buildRequest(form.getValues(), inputs);
  const next = () => {
    const errors = validateStep(active, form.getValues(), inputs);
    // Re-check this step only: the server's errors on later steps stay until their fields change.
    const later = Object.entries(form.errors).filter(([field]) => stepOfField(field) !== active);
    form.setErrors({ ...Object.fromEntries(later), ...errors });
    if (Object.keys(errors).length > 0) return;
    if (active === 0 && !defaults.data) return; // wait for the template's defaults
    setUnplaced([]);
    if (active + 1 === REVIEW) {
      plan.reset();
      plan.mutate(request());
    }
    setActive(active + 1);
  };
  const back = () => setActive((step) => Math.max(0, step - 1));

  const planError = plan.error instanceof ApiError && plan.error.status === 422 ? null : plan.error;
  return (
    <>
      <PageHeader title="New deployment" description="Build a container from a template in five steps." />
      <Paper withBorder radius="md" p={{ base: "sm", sm: "lg" }}>
        <Stepper
          active={active}
          onStepClick={(step) => step < active && setActive(step)}
          allowNextStepsSelect={false}
          size="sm"
          wrap
        >
          <Stepper.Step label={STEPS[0]} description="What to build">
            <TemplateStep form={form} defaults={defaults.data} defaultsError={defaults.error} />
          </Stepper.Step>
          <Stepper.Step label={STEPS[1]} description="Where">
            <NodeStep form={form} defaults={defaults.data} />
          </Stepper.Step>
          <Stepper.Step label={STEPS[2]} description="How big">
            <ResourcesStep form={form} />
          </Stepper.Step>
          <Stepper.Step label={STEPS[3]} description="How to reach it">
            <NetworkStep form={form} inputs={inputs} />
          </Stepper.Step>
          <Stepper.Step label={STEPS[4]} description="The plan">
            {plan.isPending ? (
              <LoadingState label="Planning" />
            ) : planError ? (
              <ErrorState
                error={planError instanceof ApiError && [403, 404].includes(planError.status) ? new Error(nodeProblem(planError)) : planError}
                onRetry={() => plan.mutate(request())}
              />
            ) : plan.data ? (
              <ReviewStep plan={plan.data} form={form} />
            ) : null}
          </Stepper.Step>
        </Stepper>
        {unplaced.length > 0 && (
          <Alert color="red" title="The server refused this deployment" mt="md" role="alert">
            {unplaced.map((message) => <Text key={message} size="sm">{message}</Text>)}
          </Alert>
        )}
        {create.isError && !(create.error instanceof ApiError && create.error.status === 422) && (
          <Alert color="red" title="Could not create the container" mt="md" role="alert">
            {create.error instanceof ApiError && [403, 404].includes(create.error.status) ? nodeProblem(create.error) : errorMessage(create.error)}
          </Alert>
        )}
        <Group justify="space-between" mt="xl">
          <Button variant="default" leftSection={<IconArrowLeft size={16} aria-hidden />} onClick={back} disabled={active === 0}>
            Back
          </Button>
          {active < REVIEW ? (
            <Button
              rightSection={<IconArrowRight size={16} aria-hidden />}
              onClick={next}
              loading={active === 0 && Boolean(template) && defaults.isFetching}
            >
              Next
            </Button>
          ) : (
            <Button
              leftSection={<IconRocket size={16} aria-hidden />}
              onClick={() => create.mutate(request())}
              loading={create.isPending}
              disabled={!plan.data}
            >
              Create container
            </Button>
          )}
        </Group>
      </Paper>
    </>
  );
}
