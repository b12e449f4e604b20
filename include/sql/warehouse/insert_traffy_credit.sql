-- One Traffy Fondue Exchange API call and the credits it spent (traffy_credit_ledger).
INSERT INTO traffy_credit_ledger (
    call_id, called_at, quota_month, endpoint, org_id, credits, api_status, api_message,
    credit_balance, quota_limit, api_log_session_id
) VALUES (
    :call_id, :called_at, :quota_month, :endpoint, :org_id, :credits, :api_status, :api_message,
    :credit_balance, :quota_limit, :api_log_session_id
)
