"""What people and hosts load as pages: the UI panels and their custom-widget export, the dev host, the sample
apps' pages and the plugin manifest."""
