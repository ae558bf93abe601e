"""The core: the problem, the effective landscape, the solution type, linear algebra and input checks."""
