"""Load generator and workload for measuring the gateway against a large synthetic data set."""
