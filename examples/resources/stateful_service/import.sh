# Import a service by its name: the provider adopts the containers labeled
# statefulhq.service=<name> on every configured host and reads the
# configuration back from their labels. Secret values are not read back
# (see below).
terraform import stateful_service.db db
