"""The supervisors' and quality inspectors' side: every finished conversation imported,
inspected against the tenant's rubric and service standards, KPIs and red-line alerts,
satisfaction, topics and the monthly quality report (``assist ops``, ``/v1/ops``, ``/ops``).

No web imports here: :mod:`serving.routes.ops` and :mod:`cli.ops` call
:class:`assist.ops.service.OpsService`.
"""
