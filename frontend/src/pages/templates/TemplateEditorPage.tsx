// Template creator (/templates/new) and editor (/templates/:name/edit): one form, saved as a whole.
import { Alert, Button, Group, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { ApiError, errorMessage } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { ErrorState, LoadingState } from "../../components/PageState";
import { PageHeader } from "../../components/PageHeader";
import { type TemplateDetail, useSaveTemplate, useTemplate } from "./api";
import { FilesSection, ScriptsSection } from "./editor/FileSections";
import { buildBody, type EditorValues, emptyValues, formErrors, valuesFromDetail } from "./editor/model";
import { PackagesSection } from "./editor/PackagesSection";
import { type SaveProblem, SaveProblems } from "./editor/SaveProblems";
import { BasicsSection, NetworkSection, ResourcesSection } from "./editor/SettingsSections";
import { InputsSection, ServicesSection } from "./editor/VariableSections";

function problemOf(error: unknown, values: EditorValues): { problem: SaveProblem; fields: Record<string, string> } {
  if (error instanceof ApiError) {
    if (error.status === 412) return { problem: { kind: "conflict", message: error.message }, fields: {} };
    if (error.status === 409) return { problem: { kind: "readonly", message: error.message }, fields: {} };
    if (error.status === 422) {
      const { fields, rest } = formErrors(error, values);
      return { problem: { kind: "invalid", message: error.message, rest }, fields };
    }
  }
  return { problem: { kind: "other", message: errorMessage(error) }, fields: {} };
}

export default function TemplateEditorPage() {
  const { name } = useParams();
  const editing = Boolean(name);
  const { canWrite } = useAuth();
  const navigate = useNavigate();
  const template = useTemplate(name, { forEdit: true });
  const save = useSaveTemplate(name);
  const form = useForm<EditorValues>({ initialValues: emptyValues() });

  // The revision being edited: its ETag goes into If-Match; the rest of its manifest is kept on save.
  const [original, setOriginal] = useState<TemplateDetail | undefined>();
  const [problem, setProblem] = useState<SaveProblem | null>(null);
  const [stash, setStash] = useState<EditorValues | null>(null);
  const [reloading, setReloading] = useState(false);
  const initialized = useRef(false);

  useEffect(() => {
    if (!initialized.current && template.data && template.isFetchedAfterMount) {
      initialized.current = true;
      setOriginal(template.data);
      form.setValues(valuesFromDetail(template.data));
      form.resetDirty();
    }
  }, [template.data, template.isFetchedAfterMount, form]);

  // After a failed save, bring the first marked field (or the explanation) into view: Save is at the bottom.
  const problemRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!problem) return;
    const invalid = document.querySelector<HTMLElement>('form [aria-invalid="true"]');
    const target = invalid ?? problemRef.current;
    target?.scrollIntoView?.({ block: "center" });
    invalid?.focus({ preventScroll: true });
  }, [problem]);

  const latest = async (): Promise<TemplateDetail | undefined> => {
    setReloading(true);
    try {
      return (await template.refetch()).data;
    } finally {
      setReloading(false);
    }
  };

  const keepMine = async () => {
    const fresh = await latest();
    if (!fresh) return;
    setOriginal(fresh);
    setProblem(null);
    notifications.show({
      color: "blue",
      message: `Your edits now apply on top of revision ${fresh.current_revision}. Save again to keep them.`,
    });
  };

  const loadLatest = async () => {
    const fresh = await latest();
    if (!fresh) return;
    setStash(form.getValues());
    setOriginal(fresh);
    form.setValues(valuesFromDetail(fresh));
    form.clearErrors();
    setProblem(null);
  };

  const submit = (values: EditorValues) => {
    setProblem(null);
    form.clearErrors();
    save.mutate(
      { body: buildBody(values, original), etag: original?.etag },
      {
        onSuccess: (saved) => {
          notifications.show({ color: "green", message: `Saved ${saved.name} (revision ${saved.current_revision})` });
          navigate(`/templates/${saved.name}`);
        },
        onError: (error) => {
          const { problem: found, fields } = problemOf(error, values);
          form.setErrors(fields);
          setProblem(found);
        },
      },
    );
  };

  const title = editing ? `Edit ${name}` : "New template";
  if (!canWrite) {
    return (
      <>
        <PageHeader title={title} />
        <Alert color="yellow" title="Read-only access">
          Creating and editing templates needs the operator or admin role.
        </Alert>
      </>
    );
  }
  if (editing && template.isError) {
    return (
      <>
        <PageHeader title={title} />
        <ErrorState error={template.error} onRetry={() => void template.refetch()} />
      </>
    );
  }
  if (editing && !initialized.current) return <LoadingState label="Loading template" />;

  return (
    <>
      <PageHeader
        title={title}
        description={editing && original ? `Editing revision ${original.current_revision}` : "A blueprint for new containers"}
      />
      <form onSubmit={form.onSubmit(submit)} noValidate>
        <Stack gap="md" maw={1100}>
          {problem && (
            <div ref={problemRef}>
            <SaveProblems
              problem={problem}
              reloading={reloading}
              onKeepMine={() => void keepMine()}
              onLoadLatest={() => void loadLatest()}
            />
            </div>
          )}
          {stash && (
            <Alert color="blue" title="Latest version loaded" withCloseButton onClose={() => setStash(null)}>
              <Group gap="xs">
                Your previous edits were set aside.
                <Button
                  size="xs"
                  variant="light"
                  onClick={() => {
                    form.setValues(stash);
                    setStash(null);
                  }}
                >
                  Restore my edits
                </Button>
              </Group>
            </Alert>
          )}
          <BasicsSection form={form} editing={editing} />
          <ResourcesSection form={form} />
          <NetworkSection form={form} />
          <PackagesSection form={form} />
          <ScriptsSection form={form} />
          <FilesSection form={form} />
          <InputsSection form={form} />
          <ServicesSection form={form} />
          <TextInput
            label="Revision message"
            placeholder={editing ? "What changed" : "created"}
            {...form.getInputProps("message")}
          />
          <Group justify="flex-end">
            <Button variant="default" component={Link} to={editing ? `/templates/${name}` : "/templates"}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              Save template
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
