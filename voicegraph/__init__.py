"""voicegraph: realtime voice AI agents as typed dataflow graphs."""

import os as _os

# When the repository root is on sys.path (pytest, Jupyter at the root), this folder shadows the
# installed package; let the sibling root folders (graph/, runner/, ...) resolve as subpackages.
if not _os.path.isdir(_os.path.join(__path__[0], "graph")):
    __path__.append(_os.path.dirname(__path__[0]))
