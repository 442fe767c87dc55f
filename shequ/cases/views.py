def _todo(request, *args, **kwargs):
    raise NotImplementedError


case_list = report = report_attributes = report_duplicates = my_cases = inbox = board = _todo
verify_queue = hotline = case_detail = case_act = case_follow_view = case_contact = photo = _todo
