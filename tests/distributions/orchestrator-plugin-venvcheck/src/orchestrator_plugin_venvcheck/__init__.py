"""Nothing but a package to install."""
