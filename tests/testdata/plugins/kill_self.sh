#!/bin/sh
# Dies by SIGKILL after printing a line.
echo "about to die"
kill -9 $$
