"""GPU and model catalogs, and node pools: the facts selection and planning stand on."""
