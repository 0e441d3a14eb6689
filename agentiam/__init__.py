"""agentiam: which identities do our AI agents run as, and what can they do?"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("agentiam")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"
