from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsGatewayConfig(AppConfig):
    name = "channels_gateway"
    verbose_name = _("Channel gateway")
