import { serviceConfig } from "../../prisma/config";

export default serviceConfig("prisma/schema.prisma");
