"""The cluster backend: Chaos Mesh objects created, watched and deleted through the Kubernetes API."""
