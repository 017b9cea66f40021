"""Pod faults in Chaos Mesh's PodChaos vocabulary: pod-kill, pod-failure, container-kill. On a cluster a
PodChaos object; on the sandbox the process that runs the service is killed (and restarted, as its
controller would) or stopped (SIGSTOP) for the duration."""
