"""Tests of the lab itself: its parts (Kubernetes API, MinIO, Triton, nodes) and its K3s and RKE2 stand-ins."""
