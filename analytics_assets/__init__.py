"""analytics-assets: `dagster ... -m analytics_assets` finds `defs` here (loaded on first use, so
that importing one submodule does not build every definition)."""


def __getattr__(name: str):
    if name == "defs":
        from analytics_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'analytics_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
