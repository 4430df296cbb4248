"""Ray Serve: the ingress, retrieval, ranking, moderation deployments; the deployment graph is bound here."""
