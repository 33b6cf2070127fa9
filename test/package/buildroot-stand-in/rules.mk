# Stand-in for an OpenWrt buildroot's rules.mk (test/package/feed-recipe.test.ts): only the variables
# openwrt/Makefile uses. Not OpenWrt's file.
INCLUDE_DIR:=$(TOPDIR)/include
BUILD_DIR:=$(TOPDIR)/build
