import type { UseFormReturnType } from "@mantine/form";

import type { WizardValues } from "./model";

export type WizardForm = UseFormReturnType<WizardValues>;
