"""Cross-cutting building blocks: settings, logging, database, errors. Imports no domain."""
