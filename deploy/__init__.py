"""Running the explorer as several replicas behind HAProxy (see deploy/replicas.py)."""
