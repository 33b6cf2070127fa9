# Stand-in for an OpenWrt buildroot's include/package.mk (test/package/feed-recipe.test.ts): runs a
# package's Build/Prepare, Build/Compile and Package/<name>/install in that order into $(PKG_ROOT),
# with the install helpers the buildroot defines. Not OpenWrt's file: no download, no ipk.
PKG_BUILD_DIR?=$(BUILD_DIR)/$(PKG_NAME)-$(PKG_VERSION)
PKG_ROOT?=$(BUILD_DIR)/root-$(PKG_NAME)
CP:=cp -fpR
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_CONF:=install -m0600

define BuildPackage
.PHONY: all
all:
	rm -rf $(PKG_BUILD_DIR) $(PKG_ROOT)
	$(call Build/Prepare)
	$(call Build/Compile)
	$(call Package/$(1)/install,$(PKG_ROOT))
endef
