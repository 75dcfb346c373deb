"""Layer classes; import them from foveanet.nn."""
