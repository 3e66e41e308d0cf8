#!/bin/sh
# Leaves a background process holding stdout/stderr open and exits at once.
sleep 300 &
echo $! > "$PID_DIR/grandchild.tmp" && mv "$PID_DIR/grandchild.tmp" "$PID_DIR/grandchild"
echo "OK - parent done | children=1"
exit 0
