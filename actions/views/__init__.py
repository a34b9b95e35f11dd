"""The operator dashboard, by area: ``access`` (who may see it, refusals), ``pages``,
``operations`` (what operators do) and ``charts``; ``urls`` mounts them at /."""
