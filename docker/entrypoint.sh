#!/bin/sh
# Runs the omero-graph service named by $SERVICE.
case "$SERVICE" in
  gateway) exec node dist/gateway/main.js ;;
  omero | imports | workflows | forms | provenance) exec node "dist/subgraphs/$SERVICE/main.js" ;;
  *) echo "SERVICE must be gateway, omero, imports, workflows, forms or provenance (got '$SERVICE')" >&2; exit 64 ;;
esac
