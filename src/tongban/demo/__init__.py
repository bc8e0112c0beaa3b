"""The demo county: 明江省 → 云州市 → 青溪县, as data files in the import formats."""
