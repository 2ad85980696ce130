"""The project's URLs plus a trivial DRF JSON view (benchmark only)."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hotel_agent.urls import urlpatterns as project_urlpatterns


class DRFPing(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


urlpatterns = [path("bench/drf-ping", DRFPing.as_view()), *project_urlpatterns]
