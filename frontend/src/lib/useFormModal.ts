// A create-or-edit dialog: open empty to create, open with a row to edit it.
import { useState } from "react";

export function useFormModal<T>() {
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<T | null>(null);
  return {
    opened: creating || editing !== null,
    editing,
    create: () => setCreating(true),
    edit: (item: T) => setEditing(item),
    close: () => {
      setCreating(false);
      setEditing(null);
    },
  };
}
