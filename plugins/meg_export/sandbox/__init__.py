"""MEG sandbox: a local MEG-compatible server implementing ``plugins/meg_export/openapi.yaml``.

Demo login: ``demo@meg.example`` / ``demo``. OAuth client: ``classeur`` /
``classeur-sandbox-secret`` by default. See ``docs/meg-contract.md``.
"""

from .app import create_sandbox_app, run_sandbox
from .seed import DEMO_EMAIL, DEMO_PASSWORD, seed_dossier

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "create_sandbox_app", "run_sandbox", "seed_dossier"]
