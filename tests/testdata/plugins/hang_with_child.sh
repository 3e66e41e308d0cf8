#!/bin/sh
# Records its pid and a background child's pid in $PID_DIR, then waits
# forever: for timeout/cancel tests. Files appear atomically (write + mv).
sleep 300 &
echo $! > "$PID_DIR/child.tmp" && mv "$PID_DIR/child.tmp" "$PID_DIR/child"
echo $$ > "$PID_DIR/leader.tmp" && mv "$PID_DIR/leader.tmp" "$PID_DIR/leader"
wait
