"""The core's migration versions (a package only so that a wheel installs them)."""
