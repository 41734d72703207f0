"""Toolchains: one isolated virtual environment per distinct set of release pins (Tutor and
its plugins), in which the environments pinning that release are rendered: what it holds
and its key (`spec`, pure), and provisioning it in the user's cache (`store`)."""
