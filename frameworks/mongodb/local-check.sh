#!/usr/bin/env bash
# Can this machine run MongoDB for the local backend? Prints nothing when it can, or one
# sentence saying what is missing (and exits 1).
set -u

if ! command -v mongod > /dev/null 2>&1; then
    echo "mongod is not installed on this machine; the local backend cannot run MongoDB"
    exit 1
fi
if ! command -v mongosh > /dev/null 2>&1; then
    echo "mongosh is not installed on this machine; the local backend needs it to set up MongoDB's replica set"
    exit 1
fi
