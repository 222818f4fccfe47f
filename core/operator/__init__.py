"""The platform operator: firms created, listed, disabled and enabled above the firms."""
