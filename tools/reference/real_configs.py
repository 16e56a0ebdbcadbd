def write_and_check(out):
    raise NotImplementedError
