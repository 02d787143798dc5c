"""Staff review behind a login: conversations, transcripts, texts to patients, queues, export, audit and users."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bot.web.staff import admin, auth, conversations, export, queues, texts


def routes() -> list[BaseRoute]:
    """The staff area's routes (all under ``/staff``)."""
    return [
        Route("/staff", auth.home, methods=["GET"], name="staff"),
        Route("/staff/login", auth.login_form, methods=["GET"], name="staff_login_form"),
        Route("/staff/login", auth.login, methods=["POST"], name="staff_login"),
        Route("/staff/logout", auth.logout, methods=["POST"], name="staff_logout"),
        Route(
            "/staff/conversations", conversations.conversation_list, methods=["GET", "POST"], name="staff_conversations"
        ),
        Route("/staff/conversations/export.csv", export.export_csv, methods=["GET", "POST"], name="staff_export"),
        Route(
            "/staff/conversations/{conversation_id}", conversations.transcript, methods=["GET"], name="staff_transcript"
        ),
        Route("/staff/conversations/{conversation_id}/sms", texts.send_text, methods=["POST"], name="staff_send_text"),
        Route("/staff/queues/red-flags", queues.red_flag_queue, methods=["GET"], name="staff_red_flags"),
        Route("/staff/queues/requests", queues.request_queue, methods=["GET"], name="staff_requests"),
        Route(
            "/staff/queues/{queue}/{record_id:int}/status", queues.change_status, methods=["POST"], name="staff_status"
        ),
        Route("/staff/api/queue-counts", queues.queue_counts, methods=["GET"], name="staff_queue_counts"),
        Route("/staff/audit", admin.audit_log, methods=["GET"], name="staff_audit"),
        Route("/staff/users", admin.users, methods=["GET"], name="staff_users"),
        Route("/staff/users", admin.create_user, methods=["POST"], name="staff_user_create"),
        Route("/staff/users/{user_id:int}", admin.update_user, methods=["POST"], name="staff_user_update"),
    ]
