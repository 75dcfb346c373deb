"""Classical baselines (scikit-learn, optional) that the CNNs are measured against."""
