# lptrig: the devices built into qemu-system-x86_64.  QEMU is configured
# --without-default-devices, so only what is listed here exists.
CONFIG_I440FX=y
# The stock isa-parallel: the baseline peer in the same binary.
CONFIG_PARALLEL=y
# isa-lpt1284, its chain bus and the IEEE 1284 peripherals.
CONFIG_LPT1284=y
# QEMU's own I2C devices, for the bus of ieee1284-i2c (the bus itself and
# QEMU's bitbang_i2c engine come with LPT1284).
CONFIG_I2C=y
CONFIG_AT24C=y
CONFIG_TMP105=y
# The VM Generation ID device: every guest has one, so that a guest restored
# from a snapshot (harness/lptrig/snapshot.py) gets a new ID and Linux's
# vmgenid driver reseeds its random number generator (two restores of one
# snapshot do not share random numbers).
CONFIG_ACPI_VMGENID=y
