"""Per-workflow policies (YAML beside this file) and the code that loads, narrows and enforces them."""
