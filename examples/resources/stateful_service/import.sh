# Import a service by its name: the provider adopts the containers labeled
# statefulhq.service=<name> and reads the configuration back from their labels.
terraform import stateful_service.db db
