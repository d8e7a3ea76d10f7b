"""Operations: health probes for load balancers."""
