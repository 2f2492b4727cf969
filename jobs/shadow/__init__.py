"""Shadow mode: a workflow runs in full but acts on nothing; the ledger keeps what it would have done."""
