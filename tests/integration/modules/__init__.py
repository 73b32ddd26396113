"""The modules, run by Ansible against the lab's real MinIO, Triton and hosts."""
