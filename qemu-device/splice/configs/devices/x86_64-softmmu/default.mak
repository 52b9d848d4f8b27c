# lptrig: the devices built into qemu-system-x86_64.  QEMU is configured
# --without-default-devices, so only what is listed here exists.
CONFIG_I440FX=y
# The stock isa-parallel: the baseline peer in the same binary.
CONFIG_PARALLEL=y
# isa-lpt1284, its chain bus and the IEEE 1284 peripherals.
CONFIG_LPT1284=y
