"""Energy per request: meters (NVML, RAPL, a CPU-time estimate), attribution and carbon."""
