"""An experiment run inside a Kubernetes cluster: its objects (manifests), the workers' release, and the
results copied out (chaoslib_ext.deploy.cluster)."""
