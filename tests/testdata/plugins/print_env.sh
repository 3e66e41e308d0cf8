#!/bin/sh
# Shows what the environment looks like from inside a plugin.
echo "FROM_CONFIG=${HX_FROM_CONFIG:-unset} DAEMON_SECRET=${HX_DAEMON_SECRET:-unset} HOME=${HOME:-unset} PWD=$(pwd) PATH=$PATH"
echo "stderr line" >&2
