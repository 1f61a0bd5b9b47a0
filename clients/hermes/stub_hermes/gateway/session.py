"""Stand-in: how handle_message keys sessions."""


def build_session_key(source, group_sessions_per_user=True, thread_sessions_per_user=False):
    key = "agent:main:dingtalk:%s:%s" % (source.chat_type, source.chat_id)
    if source.chat_type == "group" and group_sessions_per_user and source.user_id:
        key += ":" + source.user_id
    return key
