// A labelled search box with the search icon; hands back the text, not the event.
import { TextInput, type TextInputProps } from "@mantine/core";
import { IconSearch } from "@tabler/icons-react";

type Props = Omit<TextInputProps, "onChange" | "value"> & { label: string; value: string; onChange: (value: string) => void };

export function SearchInput({ onChange, ...rest }: Props) {
  return (
    <TextInput
      leftSection={<IconSearch size={16} aria-hidden />}
      onChange={(event) => onChange(event.currentTarget.value)}
      {...rest}
    />
  );
}
